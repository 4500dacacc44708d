//! What people read about the command line: the examples, variables and
//! usage lines of `--help`, the short `-h`, and clap's errors as one line
//! in our words.
//!
//! `args` declares its flags with the texts here; what is rendered from
//! the declared command (`-h`, an error line) takes that command as given
//! (`cli`'s `short_help` and `usage_message` pass the janitor's), so that
//! this module never reaches back to `args`.

use std::ffi::OsString;

use crate::exit::ExitStatus;

pub(super) const EXAMPLES: &str = r#"Examples:
  # See what would go, without sending any DELETE (run this first):
  pushgateway-janitor --url http://pushgateway:9091 --dry-run

  # Delete groups silent for more than 15 minutes, report as JSON:
  pushgateway-janitor --url http://pushgateway:9091 --threshold 15m --output json

  # Behind a reverse proxy with a path prefix, keep a report file:
  pushgateway-janitor --url https://proxy.example/pgw --report-file /var/lib/pgj/report.json

  # Flink ghosts go after 10m, the nightly backup after 26h, never more than 50 at once:
  pushgateway-janitor --url http://pushgateway:9091 --rule '{job=~"flink.*"}=10m' \
      --rule '{job="backup"}=26h' --keep '{job="billing"}' --max-deletes 50

  # Basic auth and a private CA (the password is read from the file):
  pushgateway-janitor --url https://pushgateway:9091 --basic-auth-user janitor \
      --basic-auth-password-file /run/secrets/pgw-password --ca-cert /etc/pgw/ca.pem

  # As a sidecar: a pass every 5 minutes, self-metrics for node_exporter:
  pushgateway-janitor --url http://pushgateway:9091 --every 5m --textfile /run/pgj/pgj.prom

  # Every replica of a StatefulSet behind a headless Service, each on its own:
  pushgateway-janitor --url dns+http://pushgateway-headless.monitoring.svc:9091

  # Pushers declare their own TTL (ttl="30m" in the grouping key); a stale group
  # waits an hour as pending, announced to a Slack or Mattermost webhook:
  pushgateway-janitor --url http://pushgateway:9091 --ttl-label ttl --grace 1h \
      --state-file /var/lib/pgj/pending.json --notify-url "$WEBHOOK_URL"

  # Bound the gateway's size: over 50000 series, groups silent for an hour or
  # more are evicted, the longest silent first (see which with --dry-run):
  pushgateway-janitor --url http://pushgateway:9091 --max-series 50000 --evict-after 1h --dry-run

  # Archive each group before its DELETE, and put the backup job's back later:
  pushgateway-janitor --url http://pushgateway:9091 --archive /var/lib/pgj/archive
  pushgateway-janitor restore /var/lib/pgj/archive/*.jsonl --url http://pushgateway:9091 \
      --select '{job="backup"}'

  # Learn each group's rhythm: late producers reported, and a group goes after
  # 3 missed pushes of its own cadence (docs/rhythms.md):
  pushgateway-janitor --url http://pushgateway:9091 --state-file /var/lib/pgj/state.json \
      --missed-pushes 3
"#;

/// The variables the janitor reads, for `--help` and the man pages'
/// ENVIRONMENT: (name, meaning, read by `restore` too). Each line fits 100
/// columns so clap does not wrap it.
const VARIABLES: [(&str, &str, bool); 6] = [
    (
        "PUSHGATEWAY_URL",
        "the gateway's URL when no --url is given",
        true,
    ),
    (
        "PUSHGATEWAY_PASSWORD",
        "the password of --basic-auth-user when no password flag is given",
        true,
    ),
    (
        "PUSHGATEWAY_TOKEN",
        "a bearer token when no flag gives credentials",
        true,
    ),
    (
        "PUSHGATEWAY_JANITOR_NOTIFY_URL",
        "the --notify-url when none is given",
        false,
    ),
    (
        "PUSHGATEWAY_JANITOR_LOG",
        "log filter: LEVEL or TARGET=LEVEL,... (a LEVEL wins over -v/-q)",
        true,
    ),
    (
        "NO_COLOR",
        "when set and not empty: logs without colors",
        true,
    ),
];

/// The `Environment:` block of a clean's or `restore`'s `--help`.
pub(super) fn environment(restore: bool) -> String {
    let rows: Vec<(&str, &str)> = VARIABLES
        .iter()
        .filter(|(_, _, by_restore)| !restore || *by_restore)
        .map(|(name, meaning, _)| (*name, *meaning))
        .collect();
    let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let mut text = String::from("Environment:\n");
    for (name, meaning) in rows {
        text.push_str(&format!("  {name:width$}  {meaning}\n"));
    }
    text
}

pub(super) fn after_help() -> String {
    format!(
        "{EXAMPLES}\n{}\n{}",
        environment(false),
        ExitStatus::help_text()
    )
}

pub(super) const USAGE: &str = "pushgateway-janitor --url URL [--url URL]... [OPTIONS]
       pushgateway-janitor restore FILE... --url URL [OPTIONS]";

/// `-h`: one line per flag, its summary only (no defaults, values or
/// environment variables: `--help` has those), grouped by heading as in
/// `--help`, like ripgrep's, fd's and xh's `-h`. clap renders it from the
/// command itself (`help` and `after_help`, not their long forms), with
/// those details hidden, and `-h`, `--help` and `-V` last. `cmd`: the
/// janitor's command, as declared.
pub(super) fn short_help_of(mut cmd: clap::Command) -> String {
    // The version flag exists once the command is built.
    cmd.build();
    cmd.mut_arg("version", |a| a.display_order(usize::MAX))
        .mut_args(|a| match a.get_action().takes_values() {
            true => a
                .hide_default_value(true)
                .hide_env(true)
                .hide_possible_values(true),
            false => a,
        })
        .mut_arg("short_help", |a| a.display_order(usize::MAX - 2))
        .mut_arg("long_help", |a| a.display_order(usize::MAX - 1))
        // The usage's second line names `restore`; its section would take
        // three more lines of a screen.
        .mut_subcommands(|c| c.hide(true))
        .render_help()
        .to_string()
}

/// A clap error as the one line after `pushgateway-janitor: error: `, from
/// the error's kind and context ([`clap::Error::get`]), never its rendered
/// text: the possible values, "did you mean", which flags conflict. An
/// error about a flag points at `--help` (`restore --help` after
/// `restore`), unless the flag is hidden there. `args` is the command line
/// after the program's name: which command the error is about, and the
/// argument that is not UTF-8; `top`: the janitor's command, as declared.
pub(super) fn usage_message_of(
    mut top: clap::Command,
    e: &clap::Error,
    args: &[OsString],
) -> String {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    // Built, as the parser's was: an argument renders only then.
    top.build();
    // `restore` is the first word or none: a flag of a clean before it is
    // an error of its own (below).
    let restoring = args.first().is_some_and(|a| a == "restore");
    let cmd = match restoring {
        true => top.find_subcommand("restore").unwrap_or(&top),
        false => &top,
    };
    let see_help = match restoring {
        true => "(see restore --help)",
        false => "(see --help)",
    };
    let strings = |kind| match e.get(kind) {
        Some(ContextValue::String(s)) => vec![s.as_str()],
        Some(ContextValue::Strings(v)) => v.iter().map(String::as_str).collect(),
        _ => Vec::new(),
    };
    let one = |kind| strings(kind).first().copied();
    // clap names an argument as it renders it (`--output <FORMAT>`,
    // `--verbose...`); the line names its flag. What is no argument of
    // ours (an unknown flag, as typed) stays as it is.
    let arg_of = |shown: &str| cmd.get_arguments().find(|a| a.to_string() == shown);
    let flag = |shown: &str| match arg_of(shown).map(|a| (a.get_long(), a.get_short())) {
        Some((Some(long), _)) => format!("--{long}"),
        Some((None, Some(short))) => format!("-{short}"),
        _ => shown.to_owned(),
    };
    if e.kind() == ErrorKind::InvalidUtf8 {
        return not_utf8(args.iter().cloned(), &|name| std::env::var_os(name));
    }
    // A word where a flag was expected: taken for a command.
    if let Some(word) = one(ContextKind::InvalidSubcommand) {
        let message = match (e.kind(), one(ContextKind::SuggestedSubcommand)) {
            (ErrorKind::ArgumentConflict, _) if word == "restore" => format!(
                "restore takes its flags after it: {RESTORE_USAGE} ({} given before it)",
                strings(ContextKind::PriorArg)
                    .into_iter()
                    .map(flag)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            (_, _) if word.starts_with('-') && is_our_flag(cmd, word) => format!(
                "'{word}' comes after '--', which makes it a plain argument, not a flag: remove the '--'"
            ),
            (ErrorKind::InvalidSubcommand, Some(suggested)) => {
                format!("unknown command '{word}': did you mean '{suggested}'?")
            }
            // Everything that is not a flag or `restore` is one here: the
            // janitor takes no plain arguments.
            _ => match stray_not_utf8(args, word) {
                Some(message) => return message,
                None => unexpected_argument(word),
            },
        };
        return format!("{message} {see_help}");
    }
    let invalid = one(ContextKind::InvalidArg);
    let Some(arg) = invalid.map(flag) else {
        return e.kind().as_str().unwrap_or("invalid arguments").to_owned();
    };
    let value = one(ContextKind::InvalidValue);
    let message = match e.kind() {
        ErrorKind::InvalidValue => {
            let mut m = match value {
                Some("") | None => format!("{arg} needs a value"),
                Some(value) => format!("invalid value '{value}' for {arg}"),
            };
            if let Some(suggested) = one(ContextKind::SuggestedValue) {
                m.push_str(&format!(": did you mean '{suggested}'?"));
            }
            let valid = strings(ContextKind::ValidValue);
            if !valid.is_empty() {
                m.push_str(&format!(" (possible values: {})", valid.join(", ")));
            }
            m
        }
        ErrorKind::ValueValidation => {
            // A value parser's own reason; `--header` withholds the value
            // (it may hold a secret) and gives its reason as `Custom`.
            let why = std::error::Error::source(e)
                .map(ToString::to_string)
                .or_else(|| one(ContextKind::Custom).map(str::to_owned));
            match (value, why) {
                (Some(value), Some(why)) => format!("invalid value '{value}' for {arg}: {why}"),
                (Some(value), None) => format!("invalid value '{value}' for {arg}"),
                (None, Some(why)) => format!("invalid value for {arg}: {why}"),
                (None, None) => format!("invalid value for {arg}"),
            }
        }
        // Everything that is not a flag is one here: the janitor takes no
        // plain arguments, and clap reads each one after `--` as such.
        ErrorKind::UnknownArgument if !arg.starts_with('-') => match stray_not_utf8(args, &arg) {
            Some(message) => return message,
            None => unexpected_argument(&arg),
        },
        ErrorKind::UnknownArgument if is_our_flag(cmd, &arg) => format!(
            "'{arg}' comes after '--', which makes it a plain argument, not a flag: remove the '--'"
        ),
        // A flag of the program given to `restore`, which has its own.
        ErrorKind::UnknownArgument if restoring && is_our_flag(&top, &arg) => {
            let name = arg.split('=').next().unwrap_or(&arg);
            let of_top = top.get_arguments().find(|a| is_our_flag_arg(a, name));
            match of_top {
                Some(a) if PROGRAM_FLAGS.contains(&a.get_id().as_str()) => {
                    let values = a
                        .get_value_names()
                        .map(|v| format!(" {}", v.join(" ")))
                        .unwrap_or_default();
                    format!(
                        "'{name}' is not a flag of restore: give it alone, pushgateway-janitor --{}{values}",
                        a.get_long().unwrap_or_default()
                    )
                }
                _ => format!(
                    "'{name}' is a flag for cleaning, not for restore: restore takes {RESTORE_USAGE}"
                ),
            }
        }
        ErrorKind::UnknownArgument => match one(ContextKind::SuggestedArg) {
            Some(suggested) => {
                format!("unknown flag '{arg}': did you mean '{}'?", flag(suggested))
            }
            None => format!("unknown flag '{arg}'"),
        },
        ErrorKind::ArgumentConflict => match one(ContextKind::PriorArg) {
            Some(prior) => format!("{arg} cannot be used with {}", flag(prior)),
            None => format!("{arg} cannot be used with the other flags given"),
        },
        ErrorKind::MissingRequiredArgument => format!(
            "the following required arguments were not provided: {}",
            strings(ContextKind::InvalidArg).join(", ")
        ),
        ErrorKind::TooManyValues => format!(
            "unexpected value '{}' for '{}' found; no more were expected",
            value.unwrap_or_default(),
            invalid.unwrap_or_default()
        ),
        kind => format!("{arg}: {}", kind.as_str().unwrap_or("invalid arguments")),
    };
    if invalid.and_then(arg_of).is_some_and(|a| a.is_hide_set()) {
        message
    } else {
        format!("{message} {see_help}")
    }
}

/// The flags of the program itself rather than of a clean: each is given
/// alone, and none belongs to `restore`.
const PROGRAM_FLAGS: [&str; 2] = ["version", "generate"];

/// A plain argument where the janitor takes none.
fn unexpected_argument(word: &str) -> String {
    let hint = match word.contains("://") {
        true => format!(" (try --url {word})"),
        false => String::new(),
    };
    format!("unexpected argument '{word}': every value is given with its flag{hint}")
}

/// Whether `given` (`--url`, `--url=x`, `-v`) names a flag of `cmd`: clap
/// calls one of its own unknown only when it came after `--`.
fn is_our_flag(cmd: &clap::Command, given: &str) -> bool {
    cmd.get_arguments().any(|a| is_our_flag_arg(a, given))
}

/// Whether `given` names the flag `a`.
fn is_our_flag_arg(a: &clap::Arg, given: &str) -> bool {
    let name = given.split('=').next().unwrap_or(given);
    match name.strip_prefix("--") {
        Some(long) => a.get_long() == Some(long),
        None => {
            let mut shorts = name.trim_start_matches('-').chars();
            shorts.next().is_some_and(|c| a.get_short() == Some(c))
        }
    }
}

/// clap shows a plain argument that is not UTF-8 with U+FFFD in place of
/// its bytes: the one of `args` it stands for, named as [`not_utf8`] does,
/// or `None` when every argument is UTF-8 (a U+FFFD typed as such).
fn stray_not_utf8(args: &[OsString], shown: &str) -> Option<String> {
    let (i, arg) = args
        .iter()
        .enumerate()
        .find(|(_, a)| a.to_str().is_none() && a.to_string_lossy() == shown)?;
    Some(format!(
        "argument {} is not valid UTF-8: '{}'; every argument must be UTF-8",
        i + 1,
        crate::gateway::redact_url_text(&arg.to_string_lossy())
    ))
}

/// clap's "invalid UTF-8" names no argument: the first of `args` (the
/// command line after the program's name) that is not UTF-8, shown with
/// the flag it follows, else the variable that is not.
pub fn not_utf8(
    args: impl Iterator<Item = std::ffi::OsString>,
    var: &dyn Fn(&str) -> Option<std::ffi::OsString>,
) -> String {
    let mut previous: Option<String> = None;
    for (i, arg) in args.enumerate() {
        match arg.to_str() {
            Some(text) => previous = Some(text.to_owned()),
            None => {
                let flag = previous.as_deref().filter(|p| p.starts_with('-'));
                let after = flag.map_or(String::new(), |p| format!(" (the value of {p})"));
                // A secret's value is not repeated, not even in part.
                let secret = flag.is_some_and(|p| {
                    ["--basic-auth-password", "--bearer-token", "--header"]
                        .iter()
                        .any(|s| p.split('=').next() == Some(*s))
                });
                let shown = match secret {
                    true => String::new(),
                    false => format!(
                        ": '{}'",
                        crate::gateway::redact_url_text(&arg.to_string_lossy())
                    ),
                };
                return format!(
                    "argument {} is not valid UTF-8{after}{shown}; every argument must be UTF-8",
                    i + 1
                );
            }
        }
    }
    for name in [
        "PUSHGATEWAY_URL",
        "PUSHGATEWAY_PASSWORD",
        "PUSHGATEWAY_TOKEN",
        "PUSHGATEWAY_JANITOR_NOTIFY_URL",
    ] {
        if var(name).is_some_and(|v| v.to_str().is_none()) {
            return format!("the environment variable {name} is not valid UTF-8");
        }
    }
    "an argument is not valid UTF-8".into()
}

pub(super) const RESTORE_USAGE: &str = "pushgateway-janitor restore FILE... --url URL [OPTIONS]";

pub(super) const RESTORE_EXAMPLES: &str = r#"Examples:
  # What would come back, without sending anything (run this first):
  pushgateway-janitor restore /var/lib/pgj/archive/pushgateway-janitor-archive-2026-11-24.jsonl \
      --url http://pushgateway:9091 --dry-run

  # The backup job's groups from a week of archives, overwriting what is there:
  pushgateway-janitor restore /var/lib/pgj/archive/*.jsonl --url http://pushgateway:9091 \
      --select '{job="backup"}' --replace

  # Onto a replacement: the records the old gateway archived (only the records
  # of --url come back without --from, in an archive several janitors share):
  pushgateway-janitor restore /var/lib/pgj/archive/*.jsonl --url http://pushgateway-new:9091 \
      --from http://pushgateway:9091 --dry-run
"#;

const RESTORE_EXIT_CODES: &str = r#"Exit codes:
  0  nothing failed (groups the gateway holds again are skipped, not failures)
  1  the gateway could not be read: nothing was pushed
  2  usage error: bad flags or values, a file that cannot be read or is no
     archive (a report, a compressed file), or files that hold only other
     gateways' records (the error line names the --from to pass)
  4  some groups could not be restored
"#;

pub(super) fn restore_after_help() -> String {
    format!(
        "{RESTORE_EXAMPLES}\n{}\n{RESTORE_EXIT_CODES}",
        environment(true)
    )
}
