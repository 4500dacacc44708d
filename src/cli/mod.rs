//! The command line: clap derive types, env fallbacks, help text, and the
//! conversion into a [`Config`](crate::config::Config), split by what
//! changes together:
//!
//! - `args`: the clap definitions of every flag (a new flag starts here);
//! - `values`: the flags' value parsers;
//! - `config`: the one fallible `Args -> Config` (and `RestoreArgs ->
//!   RestoreConfig`), URL and credential checks;
//! - `help`: `--help`'s examples and variables, `-h`, and clap's errors as
//!   one line in our words; it knows the command only as given (`args`
//!   uses its texts, so it cannot use `args`).

mod args;
mod config;
mod help;
mod values;

pub use crate::duration::{parse_duration, parse_threshold};
pub use args::{
    Args, ClockArg, Command, LabelNamesArg, OutputArg, RestoreArgs, RestoreOutputArg, TransportArgs,
};
pub use config::{check_url, UsageError};
pub use help::not_utf8;
pub use values::{parse_rule, parse_selector, HeaderParser};

/// `-h`: the short help of the janitor's command.
pub fn short_help() -> String {
    help::short_help_of(<Args as clap::CommandFactory>::command())
}

/// A clap error from parsing the janitor's command line as the one line
/// after `pushgateway-janitor: error: `. `args`: the command line after
/// the program's name.
pub fn usage_message(e: &clap::Error, args: &[std::ffi::OsString]) -> String {
    help::usage_message_of(<Args as clap::CommandFactory>::command(), e, args)
}

#[cfg(test)]
mod tests;

/// An environment with no variables set.
#[cfg(test)]
pub(crate) fn no_env(_: &str) -> Option<String> {
    None
}
