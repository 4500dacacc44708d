//! Where one pass's report goes: an error line per failure (stderr), the
//! report file, the textfile, stdout, the served exposition and the pushed
//! metrics; and the atomic writes they share. It decides nothing about
//! groups and sends nothing but `--push-metrics`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{Config, OutputFormat};
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
    /// Opens the textfile (reading its history) when `config` asks for it.
    /// `exposition` is what `--listen-address` serves, when it is on.
    pub fn open(
        config: &'a Config,
        exposition: Option<Arc<Exposition>>,
        runtime: tokio::runtime::Handle,
    ) -> Outputs<'a> {
        Outputs {
            config,
            textfile: config.textfile.as_deref().map(Textfile::open),
            exposition,
            runtime,
        }
    }

    /// Sends one pass's report everywhere it goes and returns the pass's
    /// exit status: the report's own, made `ScanFailed` when a report file,
    /// the textfile or the push could not be written (a run nobody can
    /// audit is not a success).
    pub fn emit(&mut self, report: &Report) -> ExitStatus {
        let mut status = report.exit_status();
        let mut failed = |message: String| {
            print_error(&message);
            status = ExitStatus::worst([status, ExitStatus::ScanFailed]);
        };
        for line in report.error_lines() {
            print_error(&line);
        }
        if let Some(path) = &self.config.report_file {
            if let Err(e) = write_atomically(path, format!("{}\n", report.to_json()).as_bytes()) {
                failed(format!(
                    "could not write the report file {}: {e}",
                    path.display()
                ));
            }
        }
        if let Some(textfile) = &mut self.textfile {
            if let Err(e) = textfile.record(report) {
                failed(format!(
                    "could not write the textfile {}: {e}",
                    textfile.path().display()
                ));
            }
        }
        if let Err(e) = print_report(
            report,
            self.config.output,
            self.config.verbose,
            self.config.every.is_some(),
        ) {
            // A closed pipe (`| head`) is the reader's choice, not a failure.
            if e.kind() != io::ErrorKind::BrokenPipe {
                print_error(&format!("could not write the report to stdout: {e}"));
            }
        }
        if let Some(exposition) = &self.exposition {
            exposition.record(report);
        }
        let push = self.config.push_metrics.as_ref();
        // A dry run sends no write at all: "nothing sent" covers the push.
        if let Some(target) = push.filter(|_| !self.config.dry_run) {
            // Called from inside the loop's runtime and from outside it (a
            // single run): block_in_place makes blocking on the push legal
            // in both.
            let pushed = tokio::task::block_in_place(|| {
                self.runtime
                    .block_on(crate::push::push(target, &self.config.transport, report))
            });
            if let Err(e) = pushed {
                failed(e);
            }
        }
        status
    }
}

fn print_report(
    report: &Report,
    output: OutputFormat,
    verbose: bool,
    stamped: bool,
) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match output {
        OutputFormat::Json => writeln!(out, "{}", report.to_json())?,
        OutputFormat::Human => report.write_human(&mut out, verbose, stamped)?,
    }
    out.flush()
}

/// One `pushgateway-janitor: error: ...` line on stderr, whatever the
/// verbosity: the message on one line.
pub fn print_error(message: &str) {
    let line = message.replace(['\n', '\r'], " ");
    let _ = writeln!(io::stderr(), "pushgateway-janitor: error: {line}");
}

/// Checks, before anything is sent, that the report file and the textfile
/// can be written (a report that cannot be written after the DELETEs went
/// out is a run nobody can audit), and that an existing textfile is the
/// janitor's own. The error is the run's one usage-error line (exit 2).
pub fn preflight(config: &Config) -> Result<(), String> {
    if let Some(path) = &config.report_file {
        check_output_path("--report-file", path)?;
    }
    if let Some(path) = &config.textfile {
        check_output_path("--textfile", path)?;
        check_textfile_owner(path)?;
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

/// The `--textfile` target: loads the history once, then records and
/// rewrites the file after each run.
#[derive(Debug)]
pub struct Textfile {
    path: PathBuf,
    history: History,
}

impl Textfile {
    /// Loads the history from `path` when it exists. A file that cannot be
    /// read or parsed is logged and replaced: the metrics must not stop.
    pub fn open(path: &Path) -> Textfile {
        let history = match std::fs::read_to_string(path) {
            Ok(text) => History::from_textfile(&text).unwrap_or_else(|e| {
                tracing::warn!(
                    "{}: not a janitor textfile ({e}); starting the counters from 0",
                    path.display()
                );
                History::default()
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => History::default(),
            Err(e) => {
                tracing::warn!(
                    "could not read {}: {e}; starting the counters from 0",
                    path.display()
                );
                History::default()
            }
        };
        Textfile {
            path: path.to_owned(),
            history,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records `report` and rewrites the file atomically.
    pub fn record(&mut self, report: &Report) -> io::Result<()> {
        let mut next = self.history.clone();
        next.record(report);
        write_atomically(&self.path, render(report, &next).as_bytes())?;
        self.history = next;
        Ok(())
    }
}

/// Writes `path` through a temporary file in the same directory and a
/// rename, so readers (the textfile collector, whoever reads the report
/// file) never see a half-written file; the collector ignores the temporary
/// name, which does not end in `.prom`. Used for the report file too.
///
/// The temporary file has a random name and is created exclusively
/// (`O_EXCL`), so in a shared directory a planted symlink cannot make the
/// janitor truncate another file. It gets the target's mode, or 0644 (the
/// collector runs as another user), and file and directory are synced, so
/// the rename survives a crash.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("the path has no file name"))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", name.to_string_lossy()))
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
