//! The validated settings of one run, built by `cli` from the arguments.

use std::path::PathBuf;
use std::time::Duration;

use crate::gateway::TransportOptions;
use crate::group::{GroupingKey, LabelNaming};
pub use crate::plan::ClockSource;
use crate::plan::Policy;
use crate::selector::Selector;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdoutFormat {
    Human,
    Json,
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Base URLs, each processed on its own; a `dns+`, `dnssrv+` or
    /// `dnssrvnoa+` URL stands for every gateway its name lists.
    pub urls: Vec<String>,
    /// Where DNS discovery sends its queries; `None`: the system's
    /// configuration.
    pub dns_server: Option<std::net::SocketAddr>,
    pub policy: Policy,
    pub dry_run: bool,
    pub output: StdoutFormat,
    pub report_file: Option<PathBuf>,
    pub transport: TransportOptions,
    /// How many DELETEs may be in flight at once per gateway.
    pub concurrency: usize,
    pub clock: ClockSource,
    /// How the gateways read label names; `None`: from each one's status.
    pub label_names: Option<LabelNaming>,
    /// How long to re-scan for deleted groups; `None` skips verification.
    pub verify_timeout: Option<Duration>,
    /// `-v`: the human output lists every group, the active, kept and
    /// ignored ones too, not only those acted on.
    pub list_all: bool,
    /// Where to write the self-metrics (`--textfile`).
    pub textfile: Option<PathBuf>,
    /// Loop mode: a pass every this long (`--every`).
    pub every: Option<Duration>,
    /// Loop mode: serve the self-metrics for a scrape (`--listen-address`).
    pub listen_address: Option<std::net::SocketAddr>,
    /// Push the self-metrics after each run (`--push-metrics`).
    pub push_metrics: Option<PushMetrics>,
    /// The janitor's memory between runs: `--grace` marks and rhythms.
    pub state_file: Option<PathBuf>,
    /// `--late-after`: silent this many cadences is late.
    pub late_after: f64,
    /// Where to POST the notification after a pass (`--notify-url`).
    pub notify_url: Option<String>,
    /// Archive each stale group here before its DELETE (`--archive`).
    pub archive: Option<PathBuf>,
}

/// The validated settings of `restore`.
#[derive(Debug, Clone)]
pub struct RestoreConfig {
    /// The archive files, in the order given.
    pub files: Vec<PathBuf>,
    /// The one gateway the groups are pushed to.
    pub url: String,
    /// `--from`: the gateways whose records are restored; empty: `url`'s.
    pub from: Vec<crate::identity::Endpoint>,
    /// When not empty, only groups matching one of these are restored.
    pub select: Vec<Selector>,
    /// Overwrite a group the gateway holds again.
    pub replace: bool,
    pub dry_run: bool,
    pub output: StdoutFormat,
    /// How the gateway reads label names; `None`: from its status.
    pub label_names: Option<LabelNaming>,
    pub transport: TransportOptions,
    /// `-v`: the human output lists superseded and ignored records, and
    /// those of other gateways, too.
    pub list_all: bool,
}

/// Where `--push-metrics` sends the run's own metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushMetrics {
    pub url: String,
    /// The `instance` label of the group (`--metrics-instance`); none by
    /// default, as the Pushgateway's README advises for batch jobs: a
    /// label that changes per run (a CronJob pod's host name) would make a
    /// new group per run.
    pub instance: Option<String>,
}

/// The `job` label of the janitor's own group; the plan never deletes a
/// group of this job.
pub const PUSH_JOB: &str = crate::plan::OWN_JOB;

impl PushMetrics {
    /// `{job="pushgateway-janitor"}`, or with `instance="<instance>"`.
    pub fn group(&self) -> GroupingKey {
        let instance = self.instance.as_deref().map(|i| ("instance", i));
        GroupingKey::new(std::iter::once(("job", PUSH_JOB)).chain(instance))
            .expect("job and instance are valid label names and the job is not empty")
    }
}
