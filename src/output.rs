//! Where one pass's report goes: an error line per failure (stderr), the
//! report file, the textfile, stdout, the served exposition and the pushed
//! metrics; and the atomic writes they share. It decides nothing about
//! groups and sends nothing but `--push-metrics`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{Config, StdoutFormat};
use crate::exit::ExitStatus;
use crate::metrics::{render, History};
use crate::report::Report;
use crate::serve::Exposition;

/// Every target of the run's reports, opened once.
pub struct Outputs<'a> {
    config: &'a Config,
    textfile: Option<Textfile>,
    exposition: Option<Arc<Exposition>>,
    /// Where `--push-metrics` runs its request.
    runtime: tokio::runtime::Handle,
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
        }
    }

    /// Sends one pass's report everywhere it goes and returns the pass's
    /// exit status: the report's own, made `Failed` by any output that
    /// could not be written (a run nobody can audit is not a success).
    ///
    /// The status is one value, carried through the outputs in this order,
    /// each recording the status as it stands when it is written: the
    /// `--grace` state file, the report file, stdout and the `--notify-url`
    /// notification (which hold no status), then the pushed metrics (they
    /// cannot hold their own failure), then the textfile and the served
    /// exposition (they hold every failure before them, the push and the
    /// notification included). So a textfile never says 0 for a run that
    /// exits 1 unless it is the textfile itself that failed, which the exit
    /// code and the error line say.
    pub fn emit(&mut self, report: &Report, seen: &crate::pending::Seen) -> ExitStatus {
        let mut status = report.exit_status();
        let failed = |status: &mut ExitStatus, message: String| {
            print_error(&message);
            *status = ExitStatus::worst([*status, ExitStatus::Failed]);
        };
        for line in report.error_lines() {
            print_error(&line);
        }
        // First: the pass's memory, whatever else fails. A dry run decided
        // from it and leaves it as it was.
        if let Some(path) = self
            .config
            .state_file
            .as_ref()
            .filter(|_| self.config.policy.grace.is_some() && !report.dry_run)
        {
            if let Err(e) = crate::pending::save(path, seen) {
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
                self.runtime
                    .block_on(crate::notify::send(url, &self.config.transport, body))
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
                self.runtime.block_on(crate::push::push(
                    target,
                    &self.config.transport,
                    report,
                    status,
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
pub fn preflight(config: &Config) -> Result<(), String> {
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
        crate::pending::load(path).map_err(|why| {
            format!(
                "--state-file {}: {why}; not overwriting it (remove it or choose another name)",
                path.display()
            )
        })?;
    }
    if let Some(dir) = &config.archive {
        crate::archive::check_dir(dir)?;
    }
    Ok(())
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

/// An exclusive advisory lock (`flock`) on a lock file beside a target,
/// `.NAME.lock`, held while the target is read and replaced. A lock file,
/// not the target (replaced by a rename, so a lock on it would guard an
/// inode nobody opens again) nor the directory (NFS cannot lock a
/// directory). It is never removed: removing a lock file races with the
/// next run that opens it. The kernel drops the lock when the process dies,
/// so a killed run leaves no lock behind.
#[derive(Debug)]
pub struct TargetLock {
    _file: std::fs::File,
}

impl TargetLock {
    /// How long to wait for another run to finish its write.
    const WAIT: std::time::Duration = std::time::Duration::from_secs(10);

    pub fn acquire(target: &Path) -> io::Result<TargetLock> {
        use std::os::unix::fs::OpenOptionsExt as _;
        let (dir, name) = dir_and_name(target)?;
        let path = dir.join(format!(".{}.lock", name.to_string_lossy()));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .open(&path)
            // Another user's lock file: a read-only descriptor locks too.
            .or_else(|e| match e.kind() {
                io::ErrorKind::PermissionDenied => std::fs::File::open(&path),
                _ => Err(e),
            })?;
        let deadline = std::time::Instant::now() + Self::WAIT;
        loop {
            match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => return Ok(TargetLock { _file: file }),
                Err(rustix::io::Errno::WOULDBLOCK) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(rustix::io::Errno::WOULDBLOCK) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WouldBlock,
                        format!(
                            "another process held the lock {} for over {}s",
                            path.display(),
                            Self::WAIT.as_secs()
                        ),
                    ))
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
}

fn dir_and_name(path: &Path) -> io::Result<(&Path, &std::ffi::OsStr)> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("the path has no file name"))?;
    Ok((dir, name))
}

/// The temporary files [`replace`] makes for `name`: `.NAME.XXXXXX.tmp`.
fn temporary_prefix(name: &std::ffi::OsStr) -> String {
    format!(".{}.", name.to_string_lossy())
}

/// Removes what a run killed mid-write left beside `path`: its temporary
/// files, named as [`replace`] names them. Called under the target's lock,
/// which every writer holds while its temporary file exists, so none of
/// them is another run's write in flight.
fn remove_leftovers(path: &Path) -> io::Result<()> {
    let (dir, name) = dir_and_name(path)?;
    let prefix = temporary_prefix(name);
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let file_name = entry.file_name();
        let Some(middle) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|n| n.strip_suffix(".tmp"))
        else {
            continue;
        };
        // tempfile's six random letters and digits.
        let ours = middle.len() == 6 && middle.bytes().all(|b| b.is_ascii_alphanumeric());
        if ours && entry.file_type()?.is_file() {
            tracing::info!(
                "removing {}, left by a run that was killed",
                entry.path().display()
            );
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Writes `path` through a temporary file in the same directory and a
/// rename, so readers (the textfile collector, whoever reads the report
/// file) never see a half-written file; the collector ignores the temporary
/// name, which does not end in `.prom`. Under the target's lock, so two runs
/// writing the same file do not remove each other's temporary file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let _lock = TargetLock::acquire(path)?;
    replace(path, bytes)
}

/// [`write_atomically`] for a caller that holds the target's lock: first
/// removes what a killed run left ([`remove_leftovers`]).
///
/// The temporary file has a random name and is created exclusively
/// (`O_EXCL`), so in a shared directory a planted symlink cannot make the
/// janitor truncate another file. It gets the target's mode, or 0644 (the
/// collector runs as another user), and file and directory are synced, so
/// the rename survives a crash.
pub(crate) fn replace(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    remove_leftovers(path)?;
    let (dir, name) = dir_and_name(path)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&temporary_prefix(name))
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o644);
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_do_not_follow_a_planted_symlink() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        // The name the old code used, predictable from the pid.
        let planted = dir
            .path()
            .join(format!(".j.prom.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let target = dir.path().join("j.prom");
        write_atomically(&target, b"x 1\n").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "x 1\n");
        // Readable by node_exporter, another user.
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644);
        // An existing file keeps its mode.
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomically(&target, b"x 2\n").unwrap();
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        // No temporary file is left behind.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| {
                n.ends_with(".tmp") && !n.starts_with(&format!(".j.prom.{}", std::process::id()))
            })
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
}
