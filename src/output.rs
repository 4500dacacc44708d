//! Where one pass's report goes: an error line per failure (stderr), the
//! report file, the textfile, stdout, the served exposition and the pushed
//! metrics, written through [`crate::files`]. It decides nothing about
//! groups and sends nothing but `--push-metrics`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{Config, StdoutFormat};
use crate::exit::ExitStatus;
use crate::files::{replace, write_atomically, TargetLock};
use crate::metrics::{render, History};
use crate::report::Report;
use crate::serve::Exposition;
use tokio_util::sync::CancellationToken;

/// Every target of the run's reports, opened once.
pub struct Outputs<'a> {
    config: &'a Config,
    textfile: Option<Textfile>,
    exposition: Option<Arc<Exposition>>,
    /// Where `--push-metrics` runs its request.
    runtime: tokio::runtime::Handle,
    /// The `--state-file` as the pass being emitted read it, when it was
    /// read once for a single run: saved from, if the file did not change.
    state_read: Option<crate::pending::Read>,
}

impl<'a> Outputs<'a> {
    /// The targets `config` asks for. `exposition` is what
    /// `--listen-address` serves, when it is on.
    pub fn open(
        config: &'a Config,
        exposition: Option<Arc<Exposition>>,
        runtime: tokio::runtime::Handle,
    ) -> Outputs<'a> {
        Outputs {
            config,
            textfile: config.textfile.as_deref().map(Textfile::new),
            exposition,
            runtime,
            state_read: None,
        }
    }

    /// The `--state-file` as the next pass read it ([`preflight`]'s
    /// reading): its save starts from it when the file did not change
    /// since, instead of parsing it again.
    pub fn state_read(&mut self, read: crate::pending::Read) {
        self.state_read = Some(read);
    }

    /// Sends one pass's report everywhere it goes and returns the pass's
    /// exit status: the report's own, made `Failed` by any output that
    /// could not be written (a run nobody can audit is not a success).
    ///
    /// The status is one value, carried through the outputs in this order,
    /// each recording the status as it stands when it is written: the
    /// `--state-file`, the report file, stdout and the `--notify-url`
    /// notification (which hold no status), then the pushed metrics (they
    /// cannot hold their own failure), then the textfile and the served
    /// exposition (they hold every failure before them, the push and the
    /// notification included). So a textfile never says 0 for a run that
    /// exits 1 unless it is the textfile itself that failed, which the exit
    /// code and the error line say.
    ///
    /// `leaving` (a second signal in loop mode) ends the waits for the
    /// notification and the push: each is then a failed output.
    pub fn emit(
        &mut self,
        report: &Report,
        seen: &crate::pending::Seen,
        leaving: &CancellationToken,
    ) -> ExitStatus {
        let mut status = report.exit_status();
        let failed = |status: &mut ExitStatus, message: String| {
            print_error(&message);
            *status = ExitStatus::worst([*status, ExitStatus::Failed]);
        };
        for line in report.error_lines() {
            print_error(&line);
        }
        // First: the pass's memory (grace marks, rhythms), whatever else
        // fails. A dry run decided from it and leaves it as it was.
        if let Some(path) = self.config.state_file.as_ref().filter(|_| !report.dry_run) {
            if let Err(e) = crate::pending::save_read(path, seen, self.state_read.take()) {
                let path = path.display();
                failed(
                    &mut status,
                    format!("could not write the state file {path}: {e}"),
                );
            }
        }
        if let Some(path) = &self.config.report_file {
            if let Err(e) = write_atomically(path, format!("{}\n", report.to_json()).as_bytes()) {
                let path = path.display();
                failed(
                    &mut status,
                    format!("could not write the report file {path}: {e}"),
                );
            }
        }
        match print_report(
            report,
            self.config.output,
            self.config.list_all,
            self.config.every.is_some(),
        ) {
            // A closed pipe (`| head`) is the reader's choice, not a failure.
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
                failed(
                    &mut status,
                    format!("could not write the report to stdout: {e}"),
                );
            }
            _ => {}
        }
        // After stdout, so that the report is out first; before the pushed
        // metrics, which then count an undelivered notification as the
        // failure it is. A dry run sends none (`notification` says so).
        if let Some((url, body)) = self
            .config
            .notify_url
            .as_ref()
            .and_then(|url| crate::notify::notification(report).map(|n| (url, n)))
        {
            let body = serde_json::to_string(&body).expect("a notification serializes");
            let sent = tokio::task::block_in_place(|| {
                self.runtime.block_on(until(
                    leaving,
                    "--notify-url",
                    crate::notify::send(url, &self.config.transport, body),
                ))
            });
            if let Err(e) = sent {
                failed(&mut status, e);
            }
        }
        // A dry run sends nothing at all, its own metrics included.
        if let Some(target) = self
            .config
            .push_metrics
            .as_ref()
            .filter(|_| !report.dry_run)
        {
            // Called from inside the loop's runtime and from outside it (a
            // single run): block_in_place makes blocking on the push legal
            // in both.
            let pushed = tokio::task::block_in_place(|| {
                self.runtime.block_on(until(
                    leaving,
                    "--push-metrics",
                    crate::push::push(target, &self.config.transport, report, status),
                ))
            });
            if let Err(e) = pushed {
                failed(&mut status, e);
            }
        }
        if let Some(textfile) = &self.textfile {
            if let Err(e) = textfile.record(report, status) {
                let path = textfile.path().display();
                failed(
                    &mut status,
                    format!("could not write the textfile {path}: {e}"),
                );
            }
        }
        if let Some(exposition) = &self.exposition {
            exposition.record(report, status);
        }
        status
    }
}

/// `request`, unless `leaving` is cancelled first: then the request is
/// dropped (its connection closed) and `what` is said to be given up.
async fn until(
    leaving: &CancellationToken,
    what: &str,
    request: impl std::future::Future<Output = Result<(), String>>,
) -> Result<(), String> {
    tokio::select! {
        biased;
        _ = leaving.cancelled() => Err(format!(
            "{what}: not sent: given up at a second signal"
        )),
        done = request => done,
    }
}

fn print_report(
    report: &Report,
    output: StdoutFormat,
    list_all: bool,
    stamped: bool,
) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match output {
        StdoutFormat::Json => writeln!(out, "{}", report.to_json())?,
        StdoutFormat::Human => report.write_human(&mut out, list_all, stamped)?,
    }
    out.flush()
}

/// One `pushgateway-janitor: error: ...` line on stderr, whatever the
/// verbosity: the message on one line.
pub fn print_error(message: &str) {
    let line = message.replace(['\n', '\r'], " ");
    let _ = writeln!(io::stderr(), "pushgateway-janitor: error: {line}");
}

/// Checks, before anything is sent, that the report file, the textfile
/// and the archive directory can be written (a report that cannot be
/// written after the DELETEs went out is a run nobody can audit; a group
/// that cannot be archived is not deleted), and that an existing textfile
/// is the janitor's own. The error is the run's one usage-error line (exit 2).
///
/// The `--state-file`'s reading is returned, for the run to decide and save
/// from without parsing the file again.
pub fn preflight(config: &Config) -> Result<Option<crate::pending::Read>, String> {
    let mut state_read = None;
    if let Some(path) = &config.report_file {
        check_output_path("--report-file", path)?;
    }
    if let Some(path) = &config.textfile {
        check_output_path("--textfile", path)?;
        check_textfile_owner(path)?;
    }
    if let Some(path) = &config.state_file {
        check_output_path("--state-file", path)?;
        // A file that is not a state is someone else's: never replaced.
        state_read = Some(crate::pending::read(path).map_err(|why| {
            format!(
                "--state-file {}: {why}; not overwriting it (remove it or choose another name)",
                path.display()
            )
        })?);
    }
    if let Some(dir) = &config.archive {
        crate::archive::check_dir(dir)?;
    }
    Ok(state_read)
}

/// Checks that `path` can be written by a rename from its own directory.
fn check_output_path(flag: &str, path: &Path) -> Result<(), String> {
    let shown = path.display();
    if path.is_dir() {
        return Err(format!("{flag} {shown} is a directory; give a file name"));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(format!(
            "{flag} {shown}: the directory {} does not exist",
            dir.display()
        ));
    }
    // The writes go through a temporary file in the same directory; try one.
    let probe = dir.join(format!(".pushgateway-janitor-check.{}", std::process::id()));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
    {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(format!(
            "{flag} {shown}: cannot create files in {}: {e}",
            dir.display()
        )),
    }
}

/// A `--textfile` that exists must be empty or one the janitor wrote (it
/// starts with the janitor's build_info family): overwriting another
/// collector file would lose someone else's metrics.
fn check_textfile_owner(path: &Path) -> Result<(), String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(format!(
                "--textfile {}: cannot read it: {e}",
                path.display()
            ))
        }
    };
    let ours = text
        .lines()
        .any(|l| l.starts_with(&format!("# TYPE {}build_info ", crate::metrics::PREFIX)));
    if text.trim().is_empty() || ours {
        Ok(())
    } else {
        Err(format!(
            "--textfile {} exists and was not written by pushgateway-janitor; not overwriting it (remove it or choose another name)",
            path.display()
        ))
    }
}

/// The `--textfile` target. Each run reads the counters the file carries,
/// adds itself and writes the file back, all under the target's lock
/// ([`TargetLock`]), so two runs at once (cron without `flock`, a manual
/// run during the timer's) each count.
#[derive(Debug)]
pub struct Textfile {
    path: PathBuf,
}

impl Textfile {
    pub fn new(path: &Path) -> Textfile {
        Textfile {
            path: path.to_owned(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records `report`, which ended with `status`, and rewrites the file
    /// atomically.
    pub fn record(&self, report: &Report, status: ExitStatus) -> io::Result<()> {
        let _lock = TargetLock::acquire(&self.path)?;
        let mut history = self.history();
        history.record(report, status);
        replace(&self.path, render(report, status, &history).as_bytes())
    }

    /// The history the file carries. A file that cannot be read or parsed
    /// is logged and replaced: the metrics must not stop.
    fn history(&self) -> History {
        let path = self.path.display();
        match std::fs::read_to_string(&self.path) {
            Ok(text) => History::from_textfile(&text).unwrap_or_else(|e| {
                tracing::warn!(
                    "{path}: not a janitor textfile ({e}); starting the counters from 0"
                );
                History::default()
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => History::default(),
            Err(e) => {
                tracing::warn!("could not read {path}: {e}; starting the counters from 0");
                History::default()
            }
        }
    }
}
