//! The command line: clap derive types, env fallbacks, help text, and the
//! conversion into a [`Config`](crate::config::Config), split by what
//! changes together:
//!
//! - `args`: the clap definitions of every flag (a new flag starts here);
//! - `values`: the flags' value parsers;
//! - `config`: the one fallible `Args -> Config` (and `RestoreArgs ->
//!   RestoreConfig`), URL and credential checks;
//! - `help`: `--help`'s examples and variables, `-h`, and clap's errors as
//!   one line in our words.

mod args;
mod config;
mod help;
mod values;

pub use crate::duration::{parse_duration, parse_threshold};
pub use args::{
    Args, ClockArg, Command, LabelNamesArg, OutputArg, RestoreArgs, RestoreOutputArg, TransportArgs,
};
pub use config::{check_url, UsageError};
pub use help::{not_utf8, short_help, usage_message};
pub use values::{parse_rule, parse_selector, HeaderParser};

/// An environment with no variables set.
#[cfg(test)]
pub(crate) fn no_env(_: &str) -> Option<String> {
    None
}
