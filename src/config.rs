//! The validated settings of one run, built by `cli` from the arguments.

use std::path::PathBuf;
use std::time::Duration;

use crate::gateway::TransportOptions;
use crate::plan::Policy;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Human,
    Json,
}

/// Where "now" comes from when ages are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockSource {
    /// The `Date` header of the scan response: ages on the gateway's own
    /// clock, immune to a wrong or jumping local clock.
    Server,
    /// This host's clock.
    Local,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Base URLs, each processed on its own.
    pub urls: Vec<String>,
    pub policy: Policy,
    pub dry_run: bool,
    pub output: OutputFormat,
    pub report_file: Option<PathBuf>,
    pub transport: TransportOptions,
    /// How many DELETEs may be in flight at once per gateway.
    pub concurrency: usize,
    pub clock: ClockSource,
    /// How long to re-scan for deleted groups; `None` skips verification.
    pub verify_timeout: Option<Duration>,
    /// List kept groups in the human output too.
    pub verbose: bool,
    /// Where to write the self-metrics (`--textfile`).
    pub textfile: Option<PathBuf>,
    /// Loop mode: a pass every this long (`--every`).
    pub every: Option<Duration>,
}
