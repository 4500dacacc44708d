//! The thin binary: arguments, logging, the runtime, and the exit code;
//! where reports go is `output`.

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::SystemTime;

use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

use pushgateway_janitor::cli::{Args, Command, RestoreArgs, UsageError};
use pushgateway_janitor::completions::{self, Generate};
use pushgateway_janitor::exit::ExitStatus;
use pushgateway_janitor::output::{self, print_error, Outputs};
use pushgateway_janitor::pending::State;
use pushgateway_janitor::run::{Interrupts, Pass};
use pushgateway_janitor::schedule;
use pushgateway_janitor::serve::{self, Exposition};

const LOG_ENV: &str = "PUSHGATEWAY_JANITOR_LOG";

fn main() -> ExitCode {
    let given: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let args = match Args::try_parse_args(&given) {
        Ok(args) => args,
        Err(e) => return usage_error(e, given.get(1..).unwrap_or_default()),
    };
    if args.short_help {
        print!("{}", pushgateway_janitor::cli::short_help());
        return ExitCode::SUCCESS;
    }
    if let Some(what) = args.generate {
        return generate(what);
    }
    // restore sets up logging from its own flags.
    if let Some(Command::Restore(restore)) = args.command {
        return restore_command(restore);
    }
    let verbosity = args.verbosity();
    let config = match configure(verbosity, |env| args.into_config(env)) {
        Ok(config) => config,
        Err(code) => return code,
    };
    // Before anything is sent.
    let state_read = match output::preflight(&config) {
        Ok(read) => read,
        Err(e) => {
            print_error(&e);
            return ExitStatus::Usage.into();
        }
    };

    let runtime = match start_runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    // The server, when there is one, is owned here: told to stop and
    // awaited (its connections with it) once the last pass is recorded.
    let mut server = None;
    if let Some(addr) = config.listen_address {
        match runtime.block_on(serve::bind(addr)) {
            Ok(listener) => {
                let shared = Arc::new(Exposition::default());
                let stop = CancellationToken::new();
                let task = runtime.spawn(serve::serve(listener, Arc::clone(&shared), stop.clone()));
                server = Some((shared, stop, task));
            }
            Err(e) => {
                print_error(&e);
                return ExitStatus::Failed.into();
            }
        }
    }
    let exposition = server.as_ref().map(|(shared, ..)| Arc::clone(shared));
    let mut outputs = Outputs::open(&config, exposition, runtime.handle().clone());
    let mut on_pass =
        |pass: &Pass, leaving: &CancellationToken| outputs.emit(&pass.report, &pass.seen, leaving);
    let status = match config.every {
        Some(every) => {
            // The loop reads the file itself and carries its memory.
            drop(state_read);
            let stopped = runtime.block_on(schedule::run_every(
                &config,
                every,
                &SystemTime::now,
                &mut on_pass,
            ));
            match stopped {
                Ok(schedule::Stop::Signal(_)) => ExitStatus::Ok,
                // Its error line is out already (the pass's state file).
                Ok(schedule::Stop::StateFileReplaced) => ExitStatus::Failed,
                Ok(schedule::Stop::Forced(signal)) => {
                    print_error(&format!(
                        "a second {signal}: stopped without finishing the DELETEs of the pass in flight; the pass was not recorded"
                    ));
                    ExitStatus::Failed
                }
                // An output the signal gave up has its error line already.
                Ok(schedule::Stop::Recorded(status)) => status,
                Err(e) => {
                    print_error(&format!("could not install the signal handlers: {e}"));
                    ExitStatus::Failed
                }
            }
        }
        None => {
            let never = Interrupts::default();
            // The state file is read once: the pass decides from the
            // preflight's reading, and its save starts from it.
            let empty = State::default();
            let state = state_read.as_ref().map_or(&empty, |read| &read.state);
            let pass = runtime.block_on(pushgateway_janitor::run::run_with(
                &config,
                &SystemTime::now,
                &never,
                state,
            ));
            if let Some(read) = state_read {
                outputs.state_read(read);
            }
            outputs.emit(&pass.report, &pass.seen, &never.now)
        }
    };
    if let Some((_, stop, task)) = server {
        stop.cancel();
        let _ = runtime.block_on(task);
    }
    status.into()
}

/// `restore`: reads the archive files (one that cannot be read is a usage
/// error: nothing is sent), pushes the groups back, prints the report.
fn restore_command(args: RestoreArgs) -> ExitCode {
    use pushgateway_janitor::restore;
    let verbosity = args.verbosity();
    let config = match configure(verbosity, |env| args.into_config(env)) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let archived = match restore::load(&config.files) {
        Ok(archived) => archived,
        Err(e) => {
            print_error(&e);
            return ExitStatus::Usage.into();
        }
    };
    let runtime = match start_runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let report = runtime.block_on(restore::restore(&config, archived, &SystemTime::now));
    for line in report.error_lines() {
        print_error(&line);
    }
    let mut status = report.exit_status();
    match report.print(config.output, config.list_all) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            print_error(&format!("could not write the report to stdout: {e}"));
            status = ExitStatus::worst([status, ExitStatus::Failed]);
        }
        _ => {}
    }
    status.into()
}

/// Logging at `verbosity`, then the command's configuration from its
/// flags and the environment; a usage error is its one line and exit 2.
fn configure<C>(
    verbosity: i8,
    into_config: impl FnOnce(&dyn Fn(&str) -> Option<String>) -> Result<C, UsageError>,
) -> Result<C, ExitCode> {
    let usage = |message: &str| {
        print_error(message);
        ExitCode::from(ExitStatus::Usage)
    };
    init_logging(verbosity).map_err(|e| usage(&e))?;
    let env = |name: &str| std::env::var(name).ok();
    into_config(&env).map_err(|e| usage(&e.to_string()))
}

/// The async runtime of a clean or a restore; the error is its one line.
fn start_runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            print_error(&format!("could not start the async runtime: {e}"));
            ExitStatus::Failed.into()
        })
}

/// `--generate`: completions or the man page on stdout.
fn generate(what: Generate) -> ExitCode {
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    match completions::write(what, <Args as clap::CommandFactory>::command(), &mut out)
        .and_then(|()| out.flush())
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            print_error(&format!("could not write to stdout: {e}"));
            ExitStatus::Failed.into()
        }
    }
}

/// clap's errors as one line; `--help` and `--version` print as usual.
/// `args`: the command line after the program's name.
fn usage_error(e: clap::Error, args: &[std::ffi::OsString]) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        _ => {
            print_error(&pushgateway_janitor::cli::usage_message(&e, args));
            ExitStatus::Usage.into()
        }
    }
}

/// Logs to stderr at the level `-v`/`-q` ask for, or as
/// `PUSHGATEWAY_JANITOR_LOG` says; a value that cannot be read is a usage
/// error (in our words, never a filter that hides more than was asked).
fn init_logging(verbosity: i8) -> Result<(), String> {
    let level = match verbosity {
        i8::MIN..=-2 => "off",
        -1 => "error",
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let spec = std::env::var_os(LOG_ENV)
        .map(|v| {
            v.into_string()
                .map_err(|_| format!("{LOG_ENV} is not valid UTF-8"))
        })
        .transpose()?;
    let filter = match spec.as_deref().map(str::trim) {
        Some(spec) if !spec.is_empty() => log_filter(spec, level)?,
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
    Ok(())
}

const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// `PUSHGATEWAY_JANITOR_LOG`: comma-separated `LEVEL` and `TARGET=LEVEL`
/// directives. A bare word must be a level: tracing would read `verbose` as
/// a target that nothing logs to, silencing every warning. Without a bare
/// level, everything else logs at the `-v`/`-q` level (`default`), so
/// `hyper=debug` adds hyper's debug lines and keeps the janitor's warnings.
fn log_filter(spec: &str, default: &str) -> Result<EnvFilter, String> {
    let valid = "expected LEVEL or TARGET=LEVEL, comma-separated (levels: off, error, warn, info, debug, trace), like debug or pushgateway_janitor=debug,hyper=info";
    let mut bare_level = false;
    for directive in spec.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let level = match directive.rsplit_once('=') {
            Some((target, level)) if !target.trim().is_empty() => level.trim(),
            Some(_) => return Err(format!("{LOG_ENV}: cannot read '{directive}': {valid}")),
            None => {
                bare_level = true;
                directive
            }
        };
        if !LEVELS.iter().any(|l| l.eq_ignore_ascii_case(level)) {
            let within = match level == directive {
                true => String::new(),
                false => format!(" (in '{directive}')"),
            };
            return Err(format!(
                "{LOG_ENV}: '{level}'{within} is not a level: {valid}"
            ));
        }
    }
    let full = match bare_level {
        true => spec.to_owned(),
        false => format!("{default},{spec}"),
    };
    EnvFilter::try_new(&full).map_err(|_| format!("{LOG_ENV}: cannot read '{spec}': {valid}"))
}
