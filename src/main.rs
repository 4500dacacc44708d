//! The thin binary: arguments, logging, runtime, output, exit code.

use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::SystemTime;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use pushgateway_janitor::cli::Args;
use pushgateway_janitor::config::OutputFormat;
use pushgateway_janitor::exit::ExitStatus;
use pushgateway_janitor::report::Report;

const LOG_ENV: &str = "PUSHGATEWAY_JANITOR_LOG";

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => return usage_error(e),
    };
    init_logging(args.verbosity());
    let config = args.into_config();

    // One thread drives every request: a DELETE's future and its
    // connection then never wake each other across threads (that cost about
    // half the CPU per DELETE). The scan's parser has its own blocking thread.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            print_error(&format!("could not start the async runtime: {e}"));
            return ExitStatus::ScanFailed.into();
        }
    };
    let report = runtime.block_on(pushgateway_janitor::run::run(&config, &SystemTime::now));

    let mut status = report.exit_status();
    for gw in &report.gateways {
        if let Some(error) = &gw.error {
            print_error(error);
        }
    }
    if let Some(path) = &config.report_file {
        if let Err(e) = write_atomically(path, report.to_json().as_bytes()) {
            print_error(&format!(
                "could not write the report file {}: {e}",
                path.display()
            ));
            status = ExitStatus::worst([status, ExitStatus::ScanFailed]);
        }
    }
    if let Err(e) = print_report(&report, config.output, config.verbose) {
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        if e.kind() != io::ErrorKind::BrokenPipe {
            print_error(&format!("could not write the report to stdout: {e}"));
        }
    }
    status.into()
}

fn print_report(report: &Report, output: OutputFormat, verbose: bool) -> io::Result<()> {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match output {
        OutputFormat::Json => writeln!(out, "{}", report.to_json())?,
        OutputFormat::Human => report.write_human(&mut out, verbose)?,
    }
    out.flush()
}

/// clap's errors as one line; `--help` and `--version` print as usual.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ => {
            let text = e.to_string();
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ");
            print_error(&format!("{first} (see --help)"));
            ExitStatus::Usage.into()
        }
    }
}

fn print_error(message: &str) {
    let line = message.replace(['\n', '\r'], " ");
    let _ = writeln!(io::stderr(), "pushgateway-janitor: error: {line}");
}

fn init_logging(verbosity: i8) {
    let level = match verbosity {
        i8::MIN..=-2 => "off",
        -1 => "error",
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = match std::env::var(LOG_ENV) {
        Ok(spec) if !spec.trim().is_empty() => {
            EnvFilter::try_new(spec.trim()).unwrap_or_else(|e| {
                print_error(&format!("ignoring {LOG_ENV}: {e}"));
                EnvFilter::new(level)
            })
        }
        _ => EnvFilter::new(level),
    };
    let ansi =
        io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .init();
}

/// Writes `path` by a temporary file in the same directory and a rename,
/// so readers never see a half-written report.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::other("the path has no file name"))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
